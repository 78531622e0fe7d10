"""spc: indicator monitoring with statistical process control."""

__version__ = "0.1.0"
