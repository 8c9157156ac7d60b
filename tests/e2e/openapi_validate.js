// Validates every OpenAPI document given on the command line with
// @apidevtools/swagger-parser (OpenAPI 3.1 schema + $ref checks). Exit 0
// when all pass; prints one line per document.
'use strict';
const path = require('path');
let SwaggerParser;
try {
	SwaggerParser = require(path.join(__dirname, '..', 'node_modules', '@apidevtools', 'swagger-parser'));
} catch (e) {
	console.error('FAIL: @apidevtools/swagger-parser is not installed (cd tests && npm install)');
	process.exit(1);
}
(async () => {
	let bad = 0;
	for (const f of process.argv.slice(2)) {
		try {
			await SwaggerParser.validate(f);
			console.log('valid ' + path.basename(f));
		} catch (e) {
			bad++;
			console.log('INVALID ' + path.basename(f) + ': ' + e.message.split('\n').slice(0, 5).join(' | '));
		}
	}
	process.exit(bad ? 1 : 0);
})();
