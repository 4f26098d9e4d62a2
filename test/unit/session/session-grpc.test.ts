// The session tests again, served with every call on grpc-js (no raw HTTP/2 fast path).
process.env.SKT_SESSION_TEST_MODE = 'grpc';
require('./session.test');
