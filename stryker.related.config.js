/**
 * One file at a time, fast: stryker.config.js with jest's findRelatedTests on, so each mutant of the file runs only
 * the unit test files that import it (directly or through other modules). A test file that does not import the
 * mutated file cannot see its mutants, so the kills are those of the whole unit suite, in a fraction of the time.
 *   nice -n 19 npx stryker run stryker.related.config.js --mutate src/domain/<file>.ts --concurrency 1
 */
const base = require('./stryker.config.js');

module.exports = { ...base, jest: { ...base.jest, enableFindRelatedTests: true } };
