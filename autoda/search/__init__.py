"""The search: proposers (LLM, offline genetic programming), the evolutionary loop, prompts,
the journal, budgets, executors, and what a run leaves in its folder (summary.json and the
best policy; see summary).
"""
