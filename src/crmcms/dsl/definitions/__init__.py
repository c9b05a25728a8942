"""Definition files: grammar, syntax tree, loader into a Catalog, checks, layout and pictures."""
