"""Policies on the device: the compiled augmentation graph and what it reads.

- epoch: the epoch program (the policy's per-class state and parameters, once an epoch);
- geometric, colour, filters, erase (with opmeta): the op library, one module per kind;
- pipeline: the per-batch pipeline (draw, one warp, masked colour passes, one convolution,
  erasing);
- compiled: CompiledPolicy, the torch module that ties them together;
- epoch_step: EpochStep, the interface of code that fills a policy's state each epoch
  (the sandbox implements it; the engine never imports the sandbox);
- reference_interpreter: the slow per-sample interpreter the pipeline is tested against;
- statistics: ClassStats, the class statistics a policy reads;
- tracker: ClassStatsTracker, which sums them over a training pass on the device (the
  trainer's, or a loop of your own);
- standard: the base augmentations (standard crop and flip; the paper's) merged around a
  policy;
- subpolicies are the compiler's; level_probe: CUDA's level-of-learning probe, which
  ``lol_pass(level)`` runs with the model the training loop gives it.
"""
