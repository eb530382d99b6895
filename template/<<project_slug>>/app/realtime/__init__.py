"""Live pages: change events in the write transaction, one LISTEN hub per process, SSE streams of HTML.

Data flows one way: ORM write -> `events` (one NOTIFY in the same transaction) -> commit ->
`hub` (one LISTEN connection, fan-out by topic and tenant) -> `streams` (Datastar SSE).
"""
