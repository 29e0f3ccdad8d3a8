"""A stand-in for CUDA's probe where a test runs a policy without a model."""
import dataclasses


def probed(stats):
    """``stats`` with a probe that passes a class where its training accuracy exceeds 0.6:
    what a policy that calls lol_pass (cuda.dsl) needs outside the trainer."""
    return dataclasses.replace(stats, probe=lambda levels: stats.train_acc.to(levels.device) > 0.6)
