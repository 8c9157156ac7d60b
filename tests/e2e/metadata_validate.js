// Validates metadata documents against docs/metadata.schema.json (JSON
// Schema 2020-12, with ajv from tests/node_modules). Exit 0 when all pass.
'use strict';
const path = require('path');
let Ajv;
try {
	Ajv = require(path.join(__dirname, '..', 'node_modules', 'ajv', 'dist', '2020'));
} catch (e) {
	console.error('FAIL: ajv is not installed (cd tests && npm install)');
	process.exit(1);
}
const ajv = new Ajv({ strict: false, allErrors: false });
const validate = ajv.compile(require(path.join(__dirname, '..', '..', 'docs', 'metadata.schema.json')));
let bad = 0;
for (const f of process.argv.slice(2)) {
	if (validate(require(path.resolve(f)))) {
		console.log('valid ' + path.basename(path.dirname(f)) + '/' + path.basename(f));
	} else {
		bad++;
		console.log('INVALID ' + f + ': ' + ajv.errorsText(validate.errors).slice(0, 300));
	}
}
process.exit(bad ? 1 : 0);
