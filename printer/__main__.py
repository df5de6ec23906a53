"""`python -m printer`: the print agent."""
import sys

from .cli import main

sys.exit(main())
