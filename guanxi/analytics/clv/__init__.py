"""Customer lifetime value: pure numerical models, no Django.

- :mod:`.summary` turns transactions into the per-customer summary the models use
  (frequency, recency, age ``T`` and mean repeat spend);
- :mod:`.bgnbd` is the BG/NBD purchase model (Fader, Hardie & Lee 2005, "Counting your
  customers the easy way"): fitting, probability of being alive, expected purchases;
- :mod:`.gamma_gamma` is the Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV:
  Using iso-value curves for customer base analysis");
- :mod:`.lifetime_value` combines both into a discounted lifetime value;
- :mod:`.simulate` draws data from the models, for tests and benchmarks;
- :mod:`.files` reads orders and summaries from CSV files with line-numbered errors.

Everything takes and returns numpy arrays, one element per customer, and is vectorised: no
Python loop runs once per customer or per order.
"""
