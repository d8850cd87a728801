// The failure converter of Strongbox's worker and clients: failure messages and stack traces move
// into an encoded payload (`encodedAttributes`), which the payload codec then encrypts — a failed
// pg_dump's message names hosts, databases and tables. Loaded by path (the worker `require`s it for
// activities; scripts/bundle-workflows.js bakes it into the workflow bundle), hence CommonJS.
// Decoding honours `encodedAttributes` whatever this option says, so old failures still read.
'use strict';
const { DefaultFailureConverter } = require('@temporalio/common');

exports.failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
