"""The rule and definition languages: grammar, parser, checker, compilers, formatter."""
