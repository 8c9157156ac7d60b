// Validates metadata documents against docs/metadata.schema.json (JSON
// Schema 2020-12, with ajv from tests/node_modules), or against another
// schema given as `--schema FILE` first. Exit 0 when all pass.
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
let files = process.argv.slice(2);
let schema = path.join(__dirname, '..', '..', 'docs', 'metadata.schema.json');
if (files[0] === '--schema') {
	schema = path.resolve(files[1]);
	files = files.slice(2);
}
const validate = ajv.compile(require(schema));
let bad = 0;
for (const f of files) {
	if (validate(require(path.resolve(f)))) {
		console.log('valid ' + path.basename(path.dirname(f)) + '/' + path.basename(f));
	} else {
		bad++;
		console.log('INVALID ' + f + ': ' + ajv.errorsText(validate.errors).slice(0, 300));
	}
}
process.exit(bad ? 1 : 0);
