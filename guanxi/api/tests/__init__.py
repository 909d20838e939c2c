# The names the API's paths give the ids in them, for tests that fill a path in.
ID_PARAMETERS = (
    "customer_id",
    "pair_id",
    "merge_id",
    "order_id",
    "invoice_id",
    "ticket_id",
    "user_id",
    "job_id",
)
