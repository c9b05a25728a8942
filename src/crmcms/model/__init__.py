"""Domain model: immutable definitions and runtime records, free of storage and DSL code."""
