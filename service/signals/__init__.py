"""The grid's voice: OpenADR 2.0b events, price feeds, the price rule, budget precedence.

Pure parts (``domain``, ``price_rule``, ``price_feed``, ``precedence``, ``shedding``)
know nothing of gRPC or of the coordinator; ``ven`` speaks OpenADR through
``openleadr`` and keeps its events in ``store``.
"""
