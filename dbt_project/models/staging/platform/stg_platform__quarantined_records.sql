with

source as (

    select * from {{ source('raw', 'quarantine') }}

),

renamed as (

    select
        -- ids
        record_id,
        _line_hash as line_hash,

        -- where it came from
        endpoint,
        _source as source_location,
        line_number,

        -- why it was refused
        reason as quarantine_reason,
        raw_line,
        raw_line_escaped,

        -- timestamps
        _loaded_at as quarantined_at,

        -- load metadata
        _batch_id as batch_id

    from source

)

select * from renamed
