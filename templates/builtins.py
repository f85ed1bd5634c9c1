"""The built-in templates (scope platform): installed by a data migration, edited afterwards
by operators like any other template (an edit is a new version; installing again never
overwrites one)."""

from __future__ import annotations

REPO = {"name": "repo", "required": True, "default": "", "description": "The repository."}
BRANCH = {
    "name": "branch",
    "required": False,
    "default": "the default branch",
    "description": "The branch or ref to work on.",
}
READ_ONLY_TOOLS = ["Read", "Grep", "Glob", "Bash"]
EDITING_TOOLS = ["Read", "Grep", "Glob", "Bash", "Write", "Edit"]

BUILTINS = [
    {
        "slug": "code-review",
        "name": "Code review",
        "description": "Reviews a pull request and reports findings by severity; told to "
        "change no file, and closes after its one turn.",
        "config": {
            "initial_prompt": (
                "Review pull request #{pr_number} ({pr_title}) in {repo}, branch {branch}.\n\n"
                "1. Find what changed: `git log` and `git diff` against the branch it will "
                "merge into (the default branch unless the PR says otherwise).\n"
                "2. Read every changed file in full, and the code that calls into the changes.\n"
                "3. Look for: bugs and unhandled edge cases, security problems (injection, "
                "secrets, unsafe input handling, missing authorization), races and resource "
                "leaks, missing or weak tests, and naming or structure that will confuse the "
                "next reader.\n"
                "4. Run the existing tests and linters if the repository documents how; say "
                "if you could not.\n\n"
                "Do not modify any file. Report your findings grouped as blocking, should fix "
                "and nit, each with the file and line and a concrete suggestion, and end with "
                "a one-paragraph verdict."
            ),
            "variables": [
                REPO,
                BRANCH,
                {"name": "pr_number", "required": True, "default": "", "description": "The PR."},
                {
                    "name": "pr_title",
                    "required": False,
                    "default": "untitled",
                    "description": "The PR's title, for context.",
                },
            ],
            "metadata": {
                "allowedTools": READ_ONLY_TOOLS,
                "maxTurns": 40,
                "maxDuration": 3600,  # 1 hour
                "autoClose": True,
            },
        },
    },
    {
        "slug": "refactor-typescript",
        "name": "Refactor JavaScript to TypeScript",
        "description": "Converts a JavaScript codebase to TypeScript in small, verified steps.",
        "config": {
            "initial_prompt": (
                "Convert the JavaScript in {repo} (branch {branch}) to TypeScript.\n\n"
                "1. Read package.json and the build and test setup first. Add TypeScript and a "
                "tsconfig.json with `strict` on and `allowJs` during the migration, matching the "
                "existing module system and target.\n"
                "2. Convert files one module at a time, leaves first: rename .js to .ts (.jsx "
                "to .tsx), add precise types for function signatures and exported values, and "
                "prefer `unknown` with narrowing over `any`; every remaining `any` gets a "
                "comment saying why.\n"
                "3. Keep behaviour identical: no logic changes, no reformatting of untouched "
                "code. Install the @types packages the dependencies need.\n"
                "4. After each module, run the type checker (`npx tsc --noEmit`) and the tests; "
                "fix what breaks before moving on.\n\n"
                "Finish with a summary: files converted, types introduced, anything left as "
                "JavaScript and why."
            ),
            "variables": [REPO, BRANCH],
            "metadata": {
                "allowedTools": EDITING_TOOLS,
                "maxTurns": 200,
                "maxDuration": 7200,  # 2 hours, the seed's maxDuration
            },
        },
    },
    {
        "slug": "dependency-update",
        "name": "Dependency update",
        "description": "Updates outdated dependencies, reads their changelogs and keeps the "
        "tests green.",
        "config": {
            "initial_prompt": (
                "Update the dependencies of {repo} (branch {branch}).\n\n"
                "1. Find the package manager(s) and lock files; list outdated dependencies "
                "with the tool's own command (npm outdated, pip list --outdated, cargo "
                "outdated, go list -u -m all, ...).\n"
                "2. Apply patch and minor updates together; take each major update on its own, "
                "after reading its changelog or migration guide, and adapt the code it breaks.\n"
                "3. Keep lock files consistent by using the package manager, never by hand. Do "
                "not touch dependencies pinned with a comment explaining the pin.\n"
                "4. Run the build and the full test suite after each step; revert an update "
                "you cannot make pass and note it.\n\n"
                "Finish with a table: package, old version, new version, notes (breaking "
                "changes handled, updates skipped and why)."
            ),
            "variables": [REPO, BRANCH],
            "metadata": {"allowedTools": EDITING_TOOLS, "maxTurns": 150, "maxDuration": 5400},
        },
    },
    {
        "slug": "fix-failing-ci",
        "name": "Fix failing CI",
        "description": "Reproduces a failing CI run locally, finds the root cause and fixes it.",
        "config": {
            "initial_prompt": (
                "CI fails on {repo}, branch {branch}.\n\n"
                "1. Read the CI configuration to learn exactly which commands CI runs, with "
                "which versions and environment.\n"
                "2. Reproduce the failure locally with those commands. If it does not "
                "reproduce, look for differences in environment, ordering or timing and say "
                "what you found.\n"
                "3. Find the root cause before changing anything. Fix the cause, not the "
                "symptom: never skip, delete or loosen a test or a lint rule to make CI pass, "
                "and never add retries to hide flakiness.\n"
                "4. Run the full CI command set again and show that it passes.\n\n"
                "Finish with: the failing step, the root cause, the fix, and how you verified "
                "it."
            ),
            "variables": [REPO, BRANCH],
            "metadata": {"allowedTools": EDITING_TOOLS, "maxTurns": 100, "maxDuration": 3600},
        },
    },
    {
        "slug": "write-tests",
        "name": "Write tests",
        "description": "Adds behaviour tests where coverage is weakest, in the project's own "
        "style.",
        "config": {
            "initial_prompt": (
                "Write tests for {repo} (branch {branch}), focusing on {target}.\n\n"
                "1. Learn the project's test framework, layout, fixtures and naming from the "
                "existing tests; follow them.\n"
                "2. Find the behaviour that matters and is least tested: public functions, "
                "error paths, edge cases (empty, large, malformed input), and bugs fixed "
                "without a regression test.\n"
                "3. Test behaviour, not implementation: name each test after what it proves, "
                "use real collaborators where practical and mocks only at process boundaries, "
                "and make sure each test can fail (break the code briefly and watch it fail).\n"
                "4. Do not change production code, except to report a bug a test reveals: "
                "leave that test marked as an expected failure with the reason.\n\n"
                "Run the whole suite at the end and summarize what the new tests cover."
            ),
            "variables": [
                REPO,
                BRANCH,
                {
                    "name": "target",
                    "required": False,
                    "default": "the least tested code",
                    "description": "A module, package or feature to focus on.",
                },
            ],
            "metadata": {"allowedTools": EDITING_TOOLS, "maxTurns": 120, "maxDuration": 3600},
        },
    },
    {
        "slug": "security-audit",
        "name": "Security audit",
        "description": "Audits the code for vulnerabilities and reports them with evidence; "
        "told to change no file, and closes after its one turn.",
        "config": {
            "initial_prompt": (
                "Audit {repo} (branch {branch}) for security vulnerabilities.\n\n"
                "Cover at least: injection (SQL, shell, template, path traversal), "
                "authentication and authorization (missing checks, tenant isolation, "
                "insecure direct object references), secrets committed to the repository, "
                "unsafe deserialization, SSRF, cross-site scripting and CSRF in web code, "
                "weak cryptography, and dependencies with known vulnerabilities (use the "
                "package manager's audit command if one exists).\n\n"
                "Do not modify any file and do not run anything that reaches the network "
                "beyond the package audit. For each finding give: severity (critical, high, "
                "medium, low), the file and line, how it could be exploited, and the fix. "
                "Say what you checked and found clean, so the report's coverage is clear."
            ),
            "variables": [REPO, BRANCH],
            "metadata": {
                "allowedTools": READ_ONLY_TOOLS,
                "maxTurns": 60,
                "maxDuration": 3600,
                "autoClose": True,
            },
        },
    },
]


def install(template_model, version_model) -> int:
    """Create the built-ins that do not exist yet (by slug, as version 1); how many were
    made. Takes the models so a migration can pass its historical ones."""
    made = 0
    for builtin in BUILTINS:
        if template_model.objects.filter(scope="platform", slug=builtin["slug"]).exists():
            continue
        template = template_model.objects.create(
            slug=builtin["slug"],
            name=builtin["name"],
            description=builtin["description"],
            scope="platform",
            latest_version=1,
        )
        version_model.objects.create(
            template=template,
            number=1,
            name=builtin["name"],
            description=builtin["description"],
            config=_complete(builtin["config"]),
        )
        made += 1
    return made


def _complete(config: dict) -> dict:
    """Every key present, as a version saved through the services has it."""
    return {
        "initial_prompt": config["initial_prompt"],
        "variables": [{"description": "", **v} for v in config["variables"]],
        "metadata": config["metadata"],
    }
