{#- Per-organization access for BI tools (PostgreSQL).

    A customer's BI role reads the marts through row-level security: every mart table with an
    `organization_id` gets the policy `tokenbooks_organization_rows`, which shows a row only to roles granted
    its organization in `bi_access.organization_roles` (or to members of the all-organizations reader group).
    Grants are data, so they survive dbt rebuilding a table: the post-hook `organization_row_security` (on
    every mart, see dbt_project.yml) puts the policy and the select grants back on each table dbt builds.

        dbt run-operation grant_organization_access --args '{organization_id: org_acme, role: acme_bi}'
        dbt run-operation revoke_organization_access --args '{organization_id: org_acme, role: acme_bi}'
        dbt run-operation grant_bi_reader --args '{role: analysts}'

    Roles: `tokenbooks_bi_org` (group of organization roles: select on the organization-grained mart tables)
    and `tokenbooks_bi_reader` (group of all-organization readers: select on every mart). Neither can read
    raw, staging or intermediate. Run the operations as the user dbt builds with (it owns the marts) with the
    CREATEROLE privilege, or create the roles beforehand. -#}

{% macro organization_row_security() -%}
    {{ return(adapter.dispatch('organization_row_security', 'tokenbooks')()) }}
{%- endmacro %}

{% macro default__organization_row_security() -%}
    {#- No roles in a DuckDB file: whoever opens it reads everything. -#}
{%- endmacro %}

{% macro postgres__organization_row_security() -%}
    {{ _bi_access_for_relation(this.schema, this.identifier) }}
{%- endmacro %}


{% macro grant_organization_access(organization_id, role) %}
    {%- set role = _bi_role_name(role) -%}
    {%- set organization_id = _bi_text(organization_id, 'organization_id') -%}
    {%- do _bi_access_setup(role) -%}
    {%- do _bi_query('grant tokenbooks_bi_org to ' ~ role) -%}
    {%- do _bi_query(
        'insert into bi_access.organization_roles (role_name, organization_id) values ('
        ~ sql_literal(role) ~ ', ' ~ sql_literal(organization_id) ~ ') on conflict do nothing'
    ) -%}
    {%- do _bi_access_for_every_mart() -%}
    {%- do adapter.commit() -%}
    {{ log('role ' ~ role ~ ' reads the rows of organization ' ~ organization_id ~ ' in the marts', info=True) }}
{% endmacro %}


{% macro revoke_organization_access(organization_id, role) %}
    {%- do _bi_require_postgres() -%}
    {%- set role = _bi_role_name(role) -%}
    {%- set organization_id = _bi_text(organization_id, 'organization_id') -%}
    {%- if _bi_query("select to_regclass('bi_access.organization_roles') is null").columns[0].values()[0] -%}
        {{ log('no organization access was ever granted: nothing to revoke', info=True) }}
        {{ return(none) }}
    {%- endif -%}
    {%- do _bi_query(
        'delete from bi_access.organization_roles where role_name = ' ~ sql_literal(role)
        ~ ' and organization_id = ' ~ sql_literal(organization_id)
    ) -%}
    {%- set remaining = _bi_query(
        'select count(*) from bi_access.organization_roles where role_name = ' ~ sql_literal(role)
    ).columns[0].values()[0] -%}
    {%- if remaining == 0 -%}
        {%- do _bi_query(
            "do $bi_access$ begin if exists (select from pg_roles where rolname = " ~ sql_literal(role)
            ~ ") then revoke tokenbooks_bi_org from " ~ role ~ "; end if; end $bi_access$"
        ) -%}
    {%- endif -%}
    {%- do adapter.commit() -%}
    {{ log('role ' ~ role ~ ' no longer reads organization ' ~ organization_id, info=True) }}
{% endmacro %}


{% macro grant_bi_reader(role) %}
    {%- set role = _bi_role_name(role) -%}
    {%- do _bi_access_setup(role) -%}
    {%- do _bi_query('grant tokenbooks_bi_reader to ' ~ role) -%}
    {%- do _bi_access_for_every_mart() -%}
    {%- do adapter.commit() -%}
    {{ log('role ' ~ role ~ ' reads every mart, all organizations', info=True) }}
{% endmacro %}


{% macro _bi_access_for_relation(schema, identifier) -%}
    {#- The grants and, on an organization-grained table, the row-level security policy of one mart.
        Nothing until access was set up: until then only the owner reads the marts. -#}
    {%- set relation = adapter.quote(schema) ~ '.' ~ adapter.quote(identifier) -%}
    do $bi_access$
    begin
        if to_regclass('bi_access.organization_roles') is null then
            return;
        end if;
        grant select on {{ relation }} to tokenbooks_bi_reader;
        if exists (
            select from pg_class
            where oid = to_regclass({{ sql_literal(relation) }}) and relkind in ('r', 'p')
        ) and exists (
            select from information_schema.columns
            where table_schema = {{ sql_literal(schema) }}
                and table_name = {{ sql_literal(identifier) }}
                and column_name = 'organization_id'
        ) then
            alter table {{ relation }} enable row level security;
            drop policy if exists tokenbooks_organization_rows on {{ relation }};
            create policy tokenbooks_organization_rows on {{ relation }} for select using (
                organization_id in (select organization_id from bi_access.organization_roles)
                or pg_has_role('tokenbooks_bi_reader', 'usage')
            );
            grant select on {{ relation }} to tokenbooks_bi_org;
        end if;
    end
    $bi_access$
{%- endmacro %}


{% macro _bi_access_for_every_mart() %}
    {%- set marts = _bi_query(
        "select table_name from information_schema.tables where table_schema = 'marts' order by table_name"
    ) -%}
    {%- for identifier in marts.columns[0].values() -%}
        {%- do _bi_query(_bi_access_for_relation('marts', identifier)) -%}
    {%- endfor -%}
{% endmacro %}


{% macro _bi_access_setup(role) %}
    {#- The grants table (each role sees only its own grants), the two group roles, and `role`. -#}
    {%- do _bi_require_postgres() -%}
    {%- do _bi_query("
        create schema if not exists bi_access;
        create schema if not exists marts;
        create table if not exists bi_access.organization_roles (
            role_name text not null,
            organization_id text not null,
            granted_at timestamp not null default (now() at time zone 'UTC'),
            primary key (role_name, organization_id)
        );
        alter table bi_access.organization_roles enable row level security;
        drop policy if exists tokenbooks_own_grants on bi_access.organization_roles;
        create policy tokenbooks_own_grants on bi_access.organization_roles for select using (
            exists (
                select from pg_roles
                where pg_roles.rolname = organization_roles.role_name and pg_has_role(pg_roles.oid, 'usage')
            )
        );
        do $bi_access$
        begin
            if not exists (select from pg_roles where rolname = 'tokenbooks_bi_org') then
                create role tokenbooks_bi_org nologin;
            end if;
            if not exists (select from pg_roles where rolname = 'tokenbooks_bi_reader') then
                create role tokenbooks_bi_reader nologin;
            end if;
            if not exists (select from pg_roles where rolname = " ~ sql_literal(role) ~ ") then
                create role " ~ role ~ " nologin;
            end if;
        end
        $bi_access$;
        grant usage on schema marts, bi_access to tokenbooks_bi_org, tokenbooks_bi_reader;
        grant select on bi_access.organization_roles to tokenbooks_bi_org, tokenbooks_bi_reader;
    ") -%}
    {#- Row-level security does not apply to these: granting them an organization would show them all. -#}
    {%- set unrestricted = _bi_query(
        'select rolsuper or rolbypassrls or rolname = current_user from pg_roles where rolname = '
        ~ sql_literal(role)
    ).columns[0].values()[0] -%}
    {%- if unrestricted -%}
        {{ exceptions.raise_compiler_error(
            'role ' ~ role ~ ' is a superuser, bypasses row-level security or owns the marts: '
            ~ 'it would read every organization; use a role of its own for BI'
        ) }}
    {%- endif -%}
{% endmacro %}


{% macro _bi_query(sql) %}
    {#- One statement inside the operation's transaction, which adapter.commit() ends (run_query opens none). -#}
    {%- call statement('bi_access', fetch_result=True, auto_begin=True) -%}
        {{ sql }}
    {%- endcall -%}
    {{ return(load_result('bi_access').table) }}
{% endmacro %}


{% macro _bi_require_postgres() %}
    {%- if target.type != 'postgres' -%}
        {{ exceptions.raise_compiler_error(
            'BI roles need the PostgreSQL warehouse (target ' ~ target.name ~ ' is ' ~ target.type ~ ')'
        ) }}
    {%- endif -%}
{% endmacro %}


{% macro _bi_role_name(role) -%}
    {#- A plain lower-case role name: it is both an identifier and the text stored with the grants. -#}
    {%- set text = (role or '') | string -%}
    {%- if not modules.re.fullmatch('[a-z_][a-z0-9_]{0,62}', text) or text.startswith('pg_') -%}
        {{ exceptions.raise_compiler_error(
            'role: expected a lower-case role name (letters, digits, _; not pg_...), got ' ~ text
        ) }}
    {%- endif -%}
    {{ return(text) }}
{%- endmacro %}


{% macro _bi_text(value, name) -%}
    {%- set text = (value or '') | string -%}
    {%- if text | trim == '' -%}
        {{ exceptions.raise_compiler_error(name ~ ': expected a non-empty value') }}
    {%- endif -%}
    {{ return(text) }}
{%- endmacro %}
