"""Exit statuses of an attempt's worker process (agent/campaign/worker.py), as the supervisor reads them."""

FINISHED = 0          # the run ended (its record holds the result, valid or not)
USAGE = 2             # bad input or environment (one line on stderr says what)
RUN_FAILED = 3        # the run could not go on (the endpoint refused, the harness failed)
BUSY = 73             # another live process holds this attempt
ENDPOINT_DOWN = 75    # the model endpoint is down before the run could start: try again later
INTERRUPTED = 130     # stopped by SIGTERM or Ctrl-C; resumable
