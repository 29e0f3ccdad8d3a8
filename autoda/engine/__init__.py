"""The engine: op library, compiled augmentation graphs, data, models, training, fitness.

Empty until the augmentation-graph and training work lands; the compiler's plan
(autoda.compiler.plan) is its input.
"""
