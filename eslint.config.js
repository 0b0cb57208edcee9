// ESLint (flat config): the recommended rules for the page's modules (templates/assets/js) and
// their unit tests (tests/js, run by node --test). `npm run lint`.
import js from '@eslint/js';
import globals from 'globals';

export default [
  { ignores: ['node_modules/', '.venv/', 'site/', '**/site/', '.salon-cache/', 'tests/artifacts/', 'bench/', 'shared/'] },
  js.configs.recommended,
  {
    files: ['templates/assets/js/**/*.js'],
    languageOptions: {
      ecmaVersion: 2024,
      sourceType: 'module',
      globals: { ...globals.browser, OpenSeadragon: 'readonly' },
    },
  },
  {
    files: ['tests/js/**/*.js', 'eslint.config.js'],
    languageOptions: { ecmaVersion: 2024, sourceType: 'module', globals: { ...globals.node } },
  },
];
