import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "src/generated/", "node_modules/", ".data/", "coverage/"] },
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-console": "error",
      eqeqeq: ["error", "always"],
    },
  },
  {
    files: ["scripts/**", "bench/**", "*.config.*", "jest.config.js"],
    rules: { "no-console": "off", "@typescript-eslint/no-require-imports": "off" },
  },
  {
    // Services never use express (ARCHITECTURE.md: HTTP kept thin); naming its types is allowed.
    files: ["src/**/*.ts"],
    ignores: ["src/**/*.routes.ts", "src/platform/http/**", "src/app.ts", "src/container.ts", "src/**/*.middleware.ts"],
    rules: { "@typescript-eslint/no-restricted-imports": ["error", { paths: [{ name: "express", allowTypeImports: true }] }] },
  },
);
