"""longtracerl: long-context reasoning data from search-agent trajectories, rubric rewards, RL.

Importing the package is cheap: heavy libraries (torch, transformers, trl, ray) are imported
only inside the modules that need them.
"""

__version__ = "0.1.0"
