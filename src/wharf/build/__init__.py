"""Builds: git sources, builder detection, the environment cache and the S2I run command."""
