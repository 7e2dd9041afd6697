"""The five stages, one module each: decompose, document, integrate, scale, deploy."""
