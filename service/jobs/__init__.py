"""Batch jobs: files uploaded over HTTP, classified by a worker with the bulk engine.

The database is the queue: a worker claims a job with a lease, keeps the lease alive while it
works and saves the bulk engine's checkpoint as it goes; a job whose worker died is claimed
again when its lease expires and resumes from that checkpoint.
"""
