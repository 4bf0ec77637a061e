"""The CLI's commands, one module each, so ``cli.py`` stays a thin table of options."""
