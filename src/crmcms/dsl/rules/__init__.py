"""The rule language: grammar, syntax tree, schema, checker, compilers and explanations."""
