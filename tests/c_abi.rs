//! The C ABI from C: builds `tests/c/*.c` against `include/gikev2.h` and the staticlib
//! cargo built for this test run, with `-Wall -Wextra -Werror`, then runs each program
//! twice: built with AddressSanitizer and UndefinedBehaviorSanitizer, and built plainly
//! under `valgrind --leak-check=full --error-exitcode=1` (skipped, with a message, when
//! valgrind is not installed).
//!
//! The link line is the one include/README.md documents (`cargo rustc --lib -- --print
//! native-static-libs`).

use std::path::{Path, PathBuf};
use std::process::Command;

/// What the staticlib needs from the system (include/README.md).
const NATIVE_LIBS: &[&str] = &[
    "-lssl",
    "-lcrypto",
    "-lgcc_s",
    "-lutil",
    "-lrt",
    "-lpthread",
    "-lm",
    "-ldl",
    "-lc",
];

const PROGRAMS: &[&str] = &["abi_roundtrip", "abi_hostile"];

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The staticlib cargo built with this test: the lib target is compiled with every crate
/// type of `[lib]`, next to this test executable (`target/<profile>/deps`).
fn staticlib() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let deps = exe.parent().expect("deps directory");
    let candidates = [
        deps.join("libgikev2.a"),
        deps.parent()
            .map(|p| p.join("libgikev2.a"))
            .unwrap_or_default(),
    ];
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .unwrap_or_else(|| panic!("libgikev2.a not found in {candidates:?}"))
}

/// The C compiler the `cc` crate picks (honours CC and CFLAGS), for the host.
fn compiler() -> Command {
    let target = env!("GIKEV2_BUILD_TARGET");
    let host = env!("GIKEV2_BUILD_HOST");
    cc::Build::new()
        .target(target)
        .host(host)
        .opt_level(0)
        .debug(true)
        .cargo_metadata(false)
        .cargo_warnings(false)
        .get_compiler()
        .to_command()
}

fn build(name: &str, sanitize: bool) -> PathBuf {
    let root = manifest_dir();
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("c_abi");
    std::fs::create_dir_all(&out_dir).expect("create the C build directory");
    let exe = out_dir.join(if sanitize {
        format!("{name}-asan")
    } else {
        name.to_string()
    });
    let mut cmd = compiler();
    cmd.args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-g"])
        .arg("-I")
        .arg(root.join("include"))
        .arg("-I")
        .arg(root.join("tests/c"));
    if sanitize {
        cmd.args([
            "-fsanitize=address,undefined",
            "-fno-sanitize-recover=all",
            "-fno-omit-frame-pointer",
        ]);
    }
    cmd.arg(root.join("tests/c").join(format!("{name}.c")))
        .arg(staticlib())
        .args(NATIVE_LIBS)
        .arg("-o")
        .arg(&exe);
    let out = cmd.output().expect("run the C compiler");
    assert!(
        out.status.success(),
        "building {name} failed: {cmd:?}\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    exe
}

/// Runs a test program (optionally under a wrapper) and checks that it passed and ran
/// many checks.
fn run(name: &str, mut cmd: Command, how: &str) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("run {name} {how}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{name} {how} failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    let prefix = format!("{name}: ");
    let checks: u32 = stdout
        .lines()
        .find_map(|l| l.strip_prefix(&prefix)?.strip_suffix(" checks passed"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{name} {how}: no summary line in\n{stdout}\n{stderr}"));
    assert!(checks >= 100, "{name} {how}: only {checks} checks ran");
    println!("{name} {how}: {checks} checks passed");
}

#[test]
fn c_programs_pass_under_asan_and_ubsan() {
    for name in PROGRAMS {
        let exe = build(name, true);
        let mut cmd = Command::new(&exe);
        cmd.env(
            "ASAN_OPTIONS",
            "detect_leaks=1:abort_on_error=0:halt_on_error=1:detect_stack_use_after_return=1",
        )
        .env("UBSAN_OPTIONS", "halt_on_error=1:print_stacktrace=1");
        run(name, cmd, "with ASAN+UBSAN");
    }
}

#[test]
fn c_programs_pass_under_valgrind() {
    let have_valgrind = Command::new("valgrind")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !have_valgrind {
        println!("SKIPPED: valgrind is not installed; the C ABI tests ran only with ASAN+UBSAN");
        return;
    }
    for name in PROGRAMS {
        let exe = build(name, false);
        let mut cmd = Command::new("valgrind");
        cmd.args([
            "--leak-check=full",
            "--error-exitcode=1",
            "--errors-for-leak-kinds=definite,indirect,possible",
            "--quiet",
        ])
        .arg(&exe);
        run(name, cmd, "under valgrind");
    }
}
