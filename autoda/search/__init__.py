"""The search: proposers (LLM, offline genetic programming), the evolutionary loop, prompts,
the journal and budgets. Empty until the search work lands.
"""
