//! Model backends behind the agent port.
