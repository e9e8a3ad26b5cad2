"""Maps and reports drawn from symbiosis results (pyvis network maps, HTML reports).

Reads the library's results; never writes the store. Filled by later work.
"""
__all__: list[str] = []
