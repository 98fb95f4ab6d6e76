"""What the ``ganzoo`` commands do, one module each; ``ganzoo.cli`` parses and dispatches."""
