"""Maps and reports drawn from symbiosis results (pyvis network maps, HTML reports).

Reads the library's results; never writes the store.
"""
import logging

# as the library: silent unless the application configures logging (see symbiosis/__init__.py)
logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__: list[str] = []
