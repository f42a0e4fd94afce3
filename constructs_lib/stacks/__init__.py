"""The stacks: the environment stack (every region's wiring and the global parts) and the
bootstrap stack."""
