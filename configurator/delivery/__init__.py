"""Delivering the outbox: every message reaches its attendee through the channels they chose.

`outbox.queue()` records what is said to whom and queues one delivery job per channel;
`configurator worker` runs `sender.deliver()` for each (email through SMTP, every other channel
through Apprise); `planner` queues reminders and feedback requests as sessions come and go.
"""
