{"policy": "rand", "ops": ["rotate", "shear_x"], "magnitude": 0.3}
