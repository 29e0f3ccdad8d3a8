"""Training and fitness: data sets and splits (data/), models, losses (methods), the
trainer, metrics (many/medium/few/all), and fitness with its cached checkpoint."""
