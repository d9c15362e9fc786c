"""Batch: the mini-batch planner, executors, scoring worker and output writer."""
