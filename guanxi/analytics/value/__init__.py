"""Customer value management: pure numerical rules, no Django.

- :mod:`.rfm` scores recency, frequency and monetary value by quintile and names segments;
- :mod:`.tiers` sorts customers into gold/iron/lead by value, into high/medium/low by
  business volume, into the current/potential value quadrant, and lists tier movements;
- :mod:`.profitability` costs the activities each customer causes and draws the whale curve
  of customer profit;
- :mod:`.lifecycle` places customers on the loyalty ladder and works out purchase cycles and
  when a customer counts as won;
- :mod:`.churn` raises early warnings with the value at risk, and orders them for follow-up;
- :mod:`.credit` rates payment behaviour and says which orders need approval.

Everything takes numpy arrays (or lists), one element per customer, and returns arrays in the
same order; categories are returned as string keys, each module having a dict of keys to
English labels for the layer above to translate. Arguments of unequal length, or values
outside their range, raise a ValueError that names the argument.
"""
