"""OneThinker Studio core library: tasks, answers, rewards, media, rendering, engines.

Nothing in this package imports the UI (``components``) or training code (``train``).
"""

__version__ = "0.1.0"
