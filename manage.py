#!/usr/bin/env python
"""Django's manage.py, for those used to it; ``guanxi`` is the same command."""

from guanxi.__main__ import main

if __name__ == "__main__":
    main()
