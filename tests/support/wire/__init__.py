"""On-the-wire benchmark machinery: the repo's real Lambda handlers, in real time, each in its own
process, against strict local stand-ins on 127.0.0.1 only.

Why it exists next to the virtual-time models (tests/support/fleet.py and friends): those run
the handler code with injected in-memory twins on a virtual clock - fast and deterministic, but
blind to what only real time shows (round trips between a reservation and the send it books,
processes that start cold or die, the heartbeat ticking late). Here nothing is injected: a
handler is driven only through ``lambda_handler(event, context)`` and its environment, builds
its own boto3 clients, and talks HTTP to:

- :mod:`.ses_server` - a strict SESv2 (rate by arrival in recipients, 429
  ``TooManyRequestsException``, faults), recording every call for the figures;
- :mod:`.moto_server` - moto for DynamoDB and SQS, made atomic per item / per queue;

and is hosted by :mod:`.esm` (Lambda's SQS event source mapping, a sandbox per process) or
:mod:`.heartbeat_driver` (the Step Functions tick loop). :mod:`.environment` builds each job's
environment (edit there when the jobs' variables change), :mod:`.resources` makes the queues and
table, :mod:`.load` enqueues through the producer contract, :mod:`.run` composes a run from a
:class:`~.run.Scenario`, :mod:`.measure` turns its record into figures, :mod:`.ceiling` measures
what the moto stand-in can carry, and :mod:`.services` starts and surely stops every process.

One complete use (a sending benchmark: one slice at 30/s, eight senders, 300 mails)::

    from tests.support.scenarios import heavy_tail_recipients, valid_message
    from tests.support.wire.measure import figures
    from tests.support.wire.run import Scenario, SliceSpec, run

    rng = random.Random(7)
    mails = [valid_message(i, heavy_tail_recipients(rng), lane="bulk") for i in range(300)]
    record = run(
        Scenario(name="sending", quota=30, slices=(SliceSpec("at-de", 30, {"bulk": 8}),),
                 seconds=120, burst={"at-de": mails}, stop_when_drained=True),
        run_dir=tmp_path,
    )
    print(figures(record))
"""
