// The session tests again, served through a non-socket Duplex (the Control.Session shape: coalesced writes).
process.env.SKT_SESSION_TEST_MODE = 'wrapped';
require('./session.test');
