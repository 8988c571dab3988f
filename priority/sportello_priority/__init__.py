"""Priority: scores each inbound message (sentiment + an explainable priority) and emits
``message.scored`` with the conversation's resulting priority."""
