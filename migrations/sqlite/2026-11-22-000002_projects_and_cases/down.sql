DROP TABLE audit_entries;
DROP TABLE cases;
DROP TABLE environments;
DROP TABLE project_members;
DROP TABLE projects;
