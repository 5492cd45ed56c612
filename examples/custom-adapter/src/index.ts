export { LineKvClient, type LineKvConnectOptions, LineKvError } from './client.js';
export { LineKvConnection, LineKvFactory, type LineKvFactoryOptions, linekvFactory } from './factory.js';
