fn main() -> std::process::ExitCode {
    hiehub::cli::run()
}
