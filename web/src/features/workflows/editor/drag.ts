/** The drag data type a palette item carries to the canvas (its value is the node kind). */
export const dragMime = 'application/x-agentyard-node';
