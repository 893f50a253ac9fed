//! GraphQL for projects and their members.

use std::collections::HashMap;

use async_graphql::{Context, InputObject, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};

use crate::connection_names;
use crate::environments::graphql::Environment;
use crate::error::{AppError, GqlResult};
use crate::graphql::loaders::Loaders;
use crate::graphql::pagination::{page_complexity, CursorConnection, PageRequest};
use crate::graphql::{utc, ContextExt};
use crate::users::graphql::User;
use crate::users::model::UserRow;

use super::access::ProjectAccess;
use super::model::{
    MemberRow, ProjectFilter, ProjectRole, ProjectRow, ProjectSettings, ProjectSettingsInput,
};
use super::scope::ProjectScope;
use super::service;

connection_names!(ProjectConnection, ProjectEdge);

/// A project as one caller sees it.
pub struct Project {
    row: ProjectRow,
    role: Option<ProjectRole>,
    scope: ProjectScope,
}

impl Project {
    /// The project of `access`, seen with the caller's effective role.
    pub fn of_access(access: &ProjectAccess) -> Self {
        Self::with_role(access.project().clone(), access)
    }

    /// `row` as changed through `access`, seen with the caller's effective role.
    pub fn with_role(row: ProjectRow, access: &ProjectAccess) -> Self {
        Self {
            row,
            role: Some(access.role()),
            scope: access.scope().clone(),
        }
    }

    /// `row` reached through an object the caller may read (or listed for a member
    /// or an admin); the role is looked up if asked.
    pub fn listed(row: ProjectRow, role: Option<ProjectRole>) -> Self {
        let scope = ProjectScope::vouched(&row.id);
        Self { row, role, scope }
    }
}

/// A project: cases, environments, members and settings belong to it.
#[Object]
impl Project {
    /// Unique id.
    async fn id(&self) -> ID {
        ID(self.row.id.clone())
    }

    /// Name.
    async fn name(&self) -> &str {
        &self.row.name
    }

    /// Free text.
    async fn description(&self) -> &str {
        &self.row.description
    }

    /// Archived projects are kept, read-only by convention, and hidden from default lists.
    async fn archived(&self) -> bool {
        self.row.archived
    }

    /// How runs of this project execute.
    async fn settings(&self) -> ProjectSettings {
        self.row.settings()
    }

    /// The caller's role here (`OWNER` for admins who are not members).
    async fn my_role(&self, ctx: &Context<'_>) -> GqlResult<ProjectRole> {
        match self.role {
            Some(role) => Ok(role),
            None => Ok(ctx
                .project_access(&self.row.id, ProjectRole::Viewer)
                .await?
                .role()),
        }
    }

    /// Who created the project (null once that account is deleted).
    async fn created_by(&self, ctx: &Context<'_>) -> GqlResult<Option<User>> {
        let loaders = ctx.data_unchecked::<Loaders>();
        Ok(loaders
            .users
            .load_one(self.row.created_by.clone())
            .await?
            .map(User::new))
    }

    /// Members and their roles, earliest first.
    async fn members(&self, ctx: &Context<'_>) -> GqlResult<Vec<ProjectMember>> {
        let loaders = ctx.data_unchecked::<Loaders>();
        let rows = loaders.members.load_one(self.scope.clone()).await?;
        Ok(rows
            .unwrap_or_default()
            .into_iter()
            .map(ProjectMember)
            .collect())
    }

    /// Environments, by name.
    async fn environments(&self, ctx: &Context<'_>) -> GqlResult<Vec<Environment>> {
        let loaders = ctx.data_unchecked::<Loaders>();
        let rows = loaders.environments.load_one(self.scope.clone()).await?;
        Ok(rows
            .unwrap_or_default()
            .into_iter()
            .map(Environment)
            .collect())
    }

    /// When the project was created.
    async fn created_at(&self) -> DateTime<Utc> {
        utc(self.row.created_at)
    }

    /// When the project last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        utc(self.row.updated_at)
    }
}

/// A user's membership of a project.
pub struct ProjectMember(pub MemberRow);

/// A user and their role in a project.
#[Object]
impl ProjectMember {
    /// The member (null once that account is deleted).
    async fn user(&self, ctx: &Context<'_>) -> GqlResult<Option<User>> {
        let loaders = ctx.data_unchecked::<Loaders>();
        Ok(loaders
            .users
            .load_one(self.0.user_id.clone())
            .await?
            .map(User::new))
    }

    /// The role.
    async fn role(&self) -> ProjectRole {
        self.0.role
    }

    /// When the user joined.
    async fn added_at(&self) -> DateTime<Utc> {
        utc(self.0.added_at)
    }
}

/// Narrows the `projects` list.
#[derive(InputObject, Default)]
pub struct ProjectFilterInput {
    /// Part of the name or description, case-insensitive.
    search: Option<String>,
    /// Only archived (true) or only live (false) projects; default: both.
    archived: Option<bool>,
}

/// Project queries.
#[derive(Default)]
pub struct ProjectQuery;

#[Object]
impl ProjectQuery {
    /// Projects the caller belongs to (admins: all), oldest first.
    #[graphql(complexity = "page_complexity(child_complexity, first)")]
    async fn projects(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 1 to 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last edge of the previous page.")] after: Option<String>,
        #[graphql(desc = "Which projects to list.")] filter: Option<ProjectFilterInput>,
    ) -> GqlResult<CursorConnection<Project, ProjectConnection, ProjectEdge>> {
        let viewer = ctx.viewer().await?;
        let page = PageRequest::new(first, after)?;
        let input = filter.unwrap_or_default();
        let filter = ProjectFilter {
            search: input.search,
            archived: input.archived,
            member_id: (!viewer.is_admin()).then(|| viewer.id().to_owned()),
        };
        let mut conn = ctx.app().db.conn().await?;
        let rows = ProjectRow::page(
            &mut conn,
            &filter,
            page.after_id.as_deref(),
            page.fetch_limit(),
        )
        .await?;
        let total = ProjectRow::count_matching(&mut conn, &filter).await?;
        let ids: Vec<String> = rows.iter().map(|row| row.id.clone()).collect();
        let roles: HashMap<String, ProjectRole> =
            MemberRow::roles_of_user(&mut conn, viewer.id(), &ids)
                .await?
                .into_iter()
                .map(|member| (member.project_id, member.role))
                .collect();
        Ok(page.connection(
            rows,
            total,
            |row| &row.id,
            |row| {
                let role = match roles.get(&row.id) {
                    Some(role) => *role,
                    None => ProjectRole::Owner, // only admins see projects they are not in
                };
                Project::listed(row, Some(role))
            },
        ))
    }

    /// One project; `NOT_FOUND` unless the caller belongs to it (or is an admin).
    async fn project(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project's id.")] id: ID,
    ) -> GqlResult<Option<Project>> {
        let access = ctx.project_access(&id, ProjectRole::Viewer).await?;
        Ok(Some(Project::of_access(&access)))
    }
}

/// Input of `createProject`.
#[derive(InputObject)]
pub struct CreateProjectInput {
    /// Name, 1–100 characters.
    name: String,
    /// Free text, at most 2000 characters.
    description: Option<String>,
    /// Initial settings.
    settings: Option<ProjectSettingsInput>,
}

/// Input of `updateProject`; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateProjectInput {
    /// The project.
    id: ID,
    /// New name.
    name: Option<String>,
    /// New description.
    description: Option<String>,
    /// Settings to change.
    settings: Option<ProjectSettingsInput>,
}

/// Input of `archiveProject`.
#[derive(InputObject)]
pub struct ArchiveProjectInput {
    /// The project.
    id: ID,
    /// True to archive, false to restore.
    #[graphql(default = true)]
    archived: bool,
}

/// Input of `deleteProject`.
#[derive(InputObject)]
pub struct DeleteProjectInput {
    /// The project.
    id: ID,
}

/// Input of `addProjectMember`: name the user by `userId` or by `username`.
#[derive(InputObject)]
pub struct AddProjectMemberInput {
    /// The project.
    project_id: ID,
    /// The user's id.
    user_id: Option<ID>,
    /// Or the user's username (any case; an email does not match, as emails are private).
    username: Option<String>,
    /// The role to give.
    role: ProjectRole,
}

/// Input of `updateProjectMember`.
#[derive(InputObject)]
pub struct UpdateProjectMemberInput {
    /// The project.
    project_id: ID,
    /// The member.
    user_id: ID,
    /// The new role.
    role: ProjectRole,
}

/// Input of `removeProjectMember`.
#[derive(InputObject)]
pub struct RemoveProjectMemberInput {
    /// The project.
    project_id: ID,
    /// The member.
    user_id: ID,
}

/// Result of a mutation that changes a project.
#[derive(SimpleObject)]
pub struct ProjectPayload {
    /// The project as it is now.
    project: Project,
}

/// Result of `deleteProject`.
#[derive(SimpleObject)]
pub struct DeleteProjectPayload {
    /// Id of the deleted project.
    deleted_project_id: ID,
}

/// Result of a mutation that changes a membership.
#[derive(SimpleObject)]
pub struct ProjectMemberPayload {
    /// The membership as it is now.
    member: ProjectMember,
}

/// Result of `removeProjectMember`.
#[derive(SimpleObject)]
pub struct RemoveProjectMemberPayload {
    /// Id of the removed user.
    removed_user_id: ID,
}

/// Project mutations.
#[derive(Default)]
pub struct ProjectMutation;

#[Object]
impl ProjectMutation {
    /// Creates a project; the caller becomes its owner. `FORBIDDEN` for non-admins when
    /// the node allows only admins to create projects.
    async fn create_project(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new project.")] input: CreateProjectInput,
    ) -> GqlResult<ProjectPayload> {
        let viewer = ctx.viewer().await?;
        let row = service::create_project(
            ctx.app(),
            &viewer,
            &input.name,
            input.description,
            input.settings,
        )
        .await?;
        Ok(ProjectPayload {
            project: Project::listed(row, Some(ProjectRole::Owner)),
        })
    }

    /// Renames a project or changes its description or settings (maintainers).
    async fn update_project(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project and the fields to change.")] input: UpdateProjectInput,
    ) -> GqlResult<ProjectPayload> {
        let access = ctx
            .project_access(&input.id, ProjectRole::Maintainer)
            .await?;
        let row = service::update_project(
            ctx.app(),
            &access,
            input.name,
            input.description,
            input.settings,
        )
        .await?;
        Ok(ProjectPayload {
            project: Project::with_role(row, &access),
        })
    }

    /// Archives (or restores) a project (owners).
    async fn archive_project(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project and whether to archive it.")] input: ArchiveProjectInput,
    ) -> GqlResult<ProjectPayload> {
        let access = ctx.project_access(&input.id, ProjectRole::Owner).await?;
        let row = service::set_archived(ctx.app(), &access, input.archived).await?;
        Ok(ProjectPayload {
            project: Project::with_role(row, &access),
        })
    }

    /// Deletes a project with its environments and cases (owners).
    async fn delete_project(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project to delete.")] input: DeleteProjectInput,
    ) -> GqlResult<DeleteProjectPayload> {
        let access = ctx.project_access(&input.id, ProjectRole::Owner).await?;
        service::delete_project(ctx.app(), &access).await?;
        Ok(DeleteProjectPayload {
            deleted_project_id: input.id,
        })
    }

    /// Adds a user to a project (owners).
    async fn add_project_member(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project, the user and the role.")] input: AddProjectMemberInput,
    ) -> GqlResult<ProjectMemberPayload> {
        let access = ctx
            .project_access(&input.project_id, ProjectRole::Owner)
            .await?;
        let user_id = match (input.user_id, input.username) {
            (Some(id), None) => id.0,
            (None, Some(username)) => {
                UserRow::find_by_username(&mut ctx.app().db.conn().await?, &username)
                    .await?
                    .ok_or(AppError::NotFound("user"))?
                    .id
            }
            _ => {
                return Err(AppError::bad_input(
                    "userId",
                    "give exactly one of userId and username",
                )
                .into())
            }
        };
        let member = service::add_member(ctx.app(), &access, &user_id, input.role).await?;
        Ok(ProjectMemberPayload {
            member: ProjectMember(member),
        })
    }

    /// Changes a member's role (owners). A project keeps at least one owner.
    async fn update_project_member(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project, the member and the new role.")]
        input: UpdateProjectMemberInput,
    ) -> GqlResult<ProjectMemberPayload> {
        let access = ctx
            .project_access(&input.project_id, ProjectRole::Owner)
            .await?;
        let member =
            service::change_member_role(ctx.app(), &access, &input.user_id, input.role).await?;
        Ok(ProjectMemberPayload {
            member: ProjectMember(member),
        })
    }

    /// Removes a member (owners). A project keeps at least one owner.
    async fn remove_project_member(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project and the member.")] input: RemoveProjectMemberInput,
    ) -> GqlResult<RemoveProjectMemberPayload> {
        let access = ctx
            .project_access(&input.project_id, ProjectRole::Owner)
            .await?;
        service::remove_member(ctx.app(), &access, &input.user_id).await?;
        Ok(RemoveProjectMemberPayload {
            removed_user_id: input.user_id,
        })
    }
}
