//! The `tidewatch` command: serve (default), migrate, print the schema, create an admin.

use std::io::{Read, Write};

use anyhow::Context;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use tidewatch::config::Config;
use tidewatch::users::model::Role;
use tidewatch::users::service::{create_account, NewAccount};
use tidewatch::{observability, App};

/// mimalloc instead of the system allocator: a request allocates and frees
/// many small values (rows, GraphQL values, JSON), where glibc's malloc spends
/// a large share of the time (see the README's Performance section).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Tidewatch: one GraphQL control plane for software testing and operations.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(flatten)]
    config: Config,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Account administration.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Stored secrets.
    Secrets {
        #[command(subcommand)]
        command: SecretsCommand,
    },
}

#[derive(Subcommand)]
enum SecretsCommand {
    /// Seal every stored secret with the current key (after TIDEWATCH_CREDENTIAL_KEY changed;
    /// give the old one in TIDEWATCH_PREVIOUS_CREDENTIAL_KEY).
    Reseal,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an admin account. The password is read from TIDEWATCH_ADMIN_PASSWORD or stdin.
    Create {
        /// Login name.
        #[arg(long)]
        username: String,
        /// Email address.
        #[arg(long)]
        email: String,
    },
}

/// The command line. Configuration flags are global, so they work before or
/// after the subcommand (`tidewatch --bind X serve` and `tidewatch serve --bind X`)
/// and each subcommand's `--help` lists them.
fn parse_command_line() -> Cli {
    let command = Cli::command().mut_args(|arg| arg.global(true));
    let matches = command.get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|error| error.exit())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = parse_command_line();
    observability::init_tracing(cli.config.log_format);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = App::build(cli.config).await?;
            tidewatch::http::serve(app).await
        }
        Command::Migrate => {
            App::build(cli.config).await?;
            print_out("migrations applied\n")
        }
        Command::Schema => print_out(&tidewatch::schema::sdl()),
        Command::Admin {
            command: AdminCommand::Create { username, email },
        } => {
            let password = read_admin_password()?;
            let app = App::build(cli.config).await?;
            let account = NewAccount {
                username,
                email,
                password,
            };
            let user = create_account(&app, account, Role::Admin)
                .await
                .map_err(|error| anyhow::anyhow!("{error}"))?;
            print_out(&format!("created admin {} ({})\n", user.username, user.id))
        }
        Command::Secrets {
            command: SecretsCommand::Reseal,
        } => {
            let app = App::build(cli.config).await?;
            let count = tidewatch::environments::service::reseal_secrets(&app)
                .await
                .map_err(|error| anyhow::anyhow!("{error}"))?
                + tidewatch::runs::reseal::reseal_runs(&app).await?;
            print_out(&format!("resealed {count} secrets\n"))
        }
    }
}

/// Writes `text` to standard output. A reader that stops early closes the pipe
/// (`tidewatch schema | head -1`): the command then ends quietly, like other
/// command-line tools, instead of panicking as `print!` does.
fn print_out(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        written => written.context("writing to standard output"),
    }
}

/// The new admin's password: `TIDEWATCH_ADMIN_PASSWORD`, else the first line of stdin.
fn read_admin_password() -> anyhow::Result<String> {
    if let Ok(password) = std::env::var("TIDEWATCH_ADMIN_PASSWORD") {
        return Ok(password);
    }
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .context("reading the password from stdin")?;
    Ok(input.lines().next().unwrap_or_default().to_owned())
}
